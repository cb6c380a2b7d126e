// Placeholder until the module lands; see README.
public enum ProfilesModule {}
