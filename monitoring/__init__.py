"""How the model does in each clinic: drift of inputs and outputs, outcomes, alerts, guarded retraining."""
