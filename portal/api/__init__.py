"""The REST API's shared pieces: pagination, throttles, the one exception handler, the token
endpoint and the router that gathers each app's API URLs under /api/v1/."""
