"""Operations: health and readiness checks, and the ``flask --app wsgi ops`` commands."""
