"""Run outputs: trade log with explanations, metrics, QuantStats tearsheet."""
