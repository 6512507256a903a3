"""What the `orderd` subcommands `check`, `replay` and `outbox` do beyond reading their arguments
(orderd/cli.py). Each runs once and exits; the server never imports them."""
