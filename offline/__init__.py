"""Running the program without the Pulumi CLI: the recording mock engine and the offline plan."""
