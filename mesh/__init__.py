"""trademesh: the shared runtime every process stands on."""
