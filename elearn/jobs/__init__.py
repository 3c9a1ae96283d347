"""Jobs: work people wait for (imports, exports, transcodes) run by a worker, with progress."""
