"""Courses: structure, authoring, catalogue, audiences, enrolment runs, content packs."""
