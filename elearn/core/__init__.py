"""Platform core: database set-up, security, access rules, audit log, mail, language, time."""
