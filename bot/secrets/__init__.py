"""Secret sources: env/file locally, Key Vault through managed identity in Azure."""
