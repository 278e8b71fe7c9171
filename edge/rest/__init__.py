"""REST transcoding: the route table from `google.api.http`, request assembly, answers."""
