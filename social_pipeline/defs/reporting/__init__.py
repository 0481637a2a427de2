"""Group `reporting`: the weekly report files with recommendations."""
