"""Stories: articles about one event, clustered online, merged later, grouped into topics."""
