"""One status check of an on-demand deployment or a Provisioned Throughput."""
