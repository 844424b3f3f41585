"""Reference data below everything else: the offices and the NIK rules."""
