"""Development tools beside orderd, not part of its wheel: `orderd demo` and the SMTP sink that stands in
for the relay (in the demo, the tests and the benchmark). Importable from a development install of the
repository (`make venv`, `pip install -e .`), like odoosim."""
