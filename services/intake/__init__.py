"""intake: records residents' reports (受理), tags them, answers "where is my issue" (进度查询)."""
