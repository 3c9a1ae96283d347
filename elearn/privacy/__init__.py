"""Personal data (Decree 13/2023/NĐ-CP): a person's own data as JSON or PDF, and retention."""
