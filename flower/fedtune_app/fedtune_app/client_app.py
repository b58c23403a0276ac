"""The ClientApp slot of the app (flwr requires one): fedtune's participants are TypeScript
SuperNodes (`npx fedtune supernode`), so a Python SuperNode running this app answers every
message with an error that says so, and the ServerApp records that failure by node."""

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

app = ClientApp()

REASON = (
    "fedtune_app has no Python ClientApp: run fedtune's participants as TypeScript SuperNodes "
    "(npx fedtune supernode --superlink HOST:PORT --participant p.json)"
)


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Refuse: see REASON."""
    raise RuntimeError(REASON)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Refuse: see REASON."""
    raise RuntimeError(REASON)
