"""Media: video and audio lectures: upload, checking, transcoding, captions, serving."""
