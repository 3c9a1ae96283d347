"""Media: checking, transcoding and serving video and audio lectures (issue 4, in progress)."""
