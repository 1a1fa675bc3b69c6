"""The boundary types every package shares: a received `Message`, an `Outgoing` answer, the clock."""
