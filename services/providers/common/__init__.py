"""What the stateless reference providers (shipping, fees, validations) share: reading a
registration's `settings` with path-named problems, destination matching by country and
subdivision, and the plain-Python view of the request lines they price or check."""
