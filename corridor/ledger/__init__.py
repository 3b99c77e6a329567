"""corridor.ledger"""
