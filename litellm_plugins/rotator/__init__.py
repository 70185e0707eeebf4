"""The token rotator: pools of credentials with cooldowns, in-request failover and a status route."""
