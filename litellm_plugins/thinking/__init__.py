"""The thinking stripper: thinking blocks and reasoning only where a target accepts them."""
