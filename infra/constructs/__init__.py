"""One construct per capability; stacks only compose and wire them."""
