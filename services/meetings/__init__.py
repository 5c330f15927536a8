"""meetings: the council's meetings under its rules of procedure (议事规则), the archive (议事档案库)
and the monthly results release (议事成果发布)."""
