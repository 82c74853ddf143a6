"""beambell: real-time weak supervision for scraped web content, as Dagster assets."""
