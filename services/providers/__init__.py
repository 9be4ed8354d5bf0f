"""The reference providers: implementations of the suite's SPIs (`ecom.spi.<kind>.v1`) that ship
with it, each a service target of its own (`catalog`, `shipping`, `fees`, `validations`) with its
own tables. The suite calls them like any third-party provider, through the provider registry."""
