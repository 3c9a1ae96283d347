"""Quiz domain: the question bank, its file formats (GIFT, Aiken), quizzes and attempts."""
