"""How the model does in each clinic: drift, outcomes, alerts and guarded retraining."""
