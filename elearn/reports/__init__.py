"""HR and training administration: assignments, training classes, reports, reminders."""
