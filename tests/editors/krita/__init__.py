"""Krita 5 (kritarunner, and the GUI under Xvfb); inside/ holds what runs in Krita."""
