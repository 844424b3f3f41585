"""The unified citizen registry processor: one record per citizen from every office's events."""
