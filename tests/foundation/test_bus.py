from __future__ import annotations

from collab.bus.memory import MemoryBus


async def test_publish_reaches_every_subscriber_and_slow_ones_lose_the_oldest() -> None:
    bus = MemoryBus(max_backlog=3)
    await bus.start()
    fast = bus.subscribe("room")
    slow = bus.subscribe("room")
    other = bus.subscribe("elsewhere")
    await bus.publish("room", b"1")
    assert await anext(fast) == (bus.instance_id, b"1")
    for n in range(2, 8):
        await bus.publish("room", str(n).encode())
    assert [(await anext(slow))[1] for _ in range(3)] == [b"5", b"6", b"7"]
    assert [(await anext(fast))[1] for _ in range(3)] == [b"5", b"6", b"7"]
    assert bus.dropped == 7 - 3 + 6 - 3  # slow dropped 1..4, fast dropped 2..4
    await bus.stop()
    assert [item async for item in other] == []
