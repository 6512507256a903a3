"""Taking in one message: the journal, the key lock, the flows that write to Odoo, the reply policy."""
