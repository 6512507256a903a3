"""Learning from the salesperson.

When orderd leaves a draft to a person, it remembers what it read (`remember_draft`, a store table of
readings awaiting a person). A poller (`LearningPoller`) watches those orders in Odoo: once a person
confirms one, what they kept is compared with what was read (`lessons`), and the pairings nobody could
doubt become aliases of that customer (its commercial partner): this wording means that product, this
pack holds so many units. `apply_learned` resolves a customer's mail with its aliases, in `serve` once
the partner is known and in `orderd parse`, so the same wording from the same customer then resolves by
itself. `orderd aliases` and the console list them and forget them.
"""

from orderd.learning.apply import apply_learned, remember_draft
from orderd.learning.lessons import KeptLine, customer_terms, lessons, read_lines
from orderd.learning.poller import LearningPoller, PollReport

__all__ = ["KeptLine", "LearningPoller", "PollReport", "apply_learned", "customer_terms", "lessons", "read_lines",
           "remember_draft"]
