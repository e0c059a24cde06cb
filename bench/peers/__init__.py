"""Python peers of the benchmark: each module runs one server on 127.0.0.1:PORT (argv[1])."""
