"""Assignment rules, speed-to-lead deadlines, sales tasks, notifications and the rep's inbox."""
