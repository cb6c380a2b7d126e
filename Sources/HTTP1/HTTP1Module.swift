// Placeholder until the module lands; see README.
public enum HTTP1Module {}
