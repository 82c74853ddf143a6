"""beambell's own demo data: the synthetic sample scrape (see :mod:`beambell_assets.demo.sample`)."""
