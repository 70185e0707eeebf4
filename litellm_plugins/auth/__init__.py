"""Static-token auth: the `general_settings.custom_auth` hook and its proxy tokens."""
