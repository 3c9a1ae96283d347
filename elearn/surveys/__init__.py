"""Survey domain: satisfaction surveys (Likert items and comments), optionally anonymous."""
