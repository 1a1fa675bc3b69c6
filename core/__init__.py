"""The boundary types every package shares: a received `Message`, an `Outgoing` answer and its
`Delivery` by a channel's sender, the clock."""
