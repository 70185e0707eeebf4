"""The stream layer: what the upstream guard and the thinking stripper do to a streamed reply."""
