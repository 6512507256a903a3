"""The HTTP side of orderd: health, readiness and metrics (`http`), and the operator console (`console`,
with its page in `console_page/`)."""
