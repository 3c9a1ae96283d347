"""Progress: the one path through which every activity type records what a learner did."""
