"""Lambda handlers of the customization workflow. Each handler is thin: parse, call pipeline/, return JSON."""
