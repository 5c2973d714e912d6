Console.WriteLine("devtoken");
