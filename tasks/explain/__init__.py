""""Help me understand this report": the facts and sentences, the charts, the HTML pages and site, and the flow's artifacts."""
